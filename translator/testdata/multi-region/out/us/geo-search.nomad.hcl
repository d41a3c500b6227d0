job "geo-search" {
  region      = "us"
  namespace   = "default"
  type        = "service"
  datacenters = ["us-east-1"]
  group "search" {
    count          = 1
    shutdown_delay = "2s"
    task "search" {
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
      name     = "geo-search"
      tags     = ["backplane", "project=geo", "element=search"]
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
    "backplane.element" = "search"
    "backplane.project" = "geo"
  }
}
