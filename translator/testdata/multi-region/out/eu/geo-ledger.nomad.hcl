job "geo-ledger" {
  region      = "eu"
  namespace   = "default"
  type        = "service"
  datacenters = ["eu-west-2"]
  group "ledger" {
    count          = 1
    shutdown_delay = "2s"
    task "ledger" {
      driver = "raw_exec"
      config {
        args    = ["$${NOMAD_TASK_DIR}/start.sh"]
        command = "/bin/sh"
      }
      env = {
        PORT = "$${NOMAD_PORT_http}"
      }
      resources {
        cpu    = 100
        memory = 128
      }
      template {
        destination = "local/start.sh"
        data        = "#!/bin/sh\nset -e\npython3 -m http.server $PORT\n"
        change_mode = "restart"
        perms       = "0755"
      }
    }
    network {
      port "http" {
      }
    }
    service {
      name     = "geo-ledger"
      tags     = ["backplane", "project=geo", "element=ledger"]
      port     = "http"
      provider = "consul"
      check {
        name     = "alive"
        type     = "tcp"
        port     = "http"
        interval = "3s"
        timeout  = "2s"
      }
    }
  }
  update {
    max_parallel      = 1
    health_check      = "checks"
    min_healthy_time  = "3s"
    healthy_deadline  = "5m0s"
    progress_deadline = "10m0s"
    auto_revert       = true
  }
  meta = {
    "backplane.element" = "ledger"
    "backplane.project" = "geo"
  }
}
