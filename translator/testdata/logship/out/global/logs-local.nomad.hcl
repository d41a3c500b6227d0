job "logs-local" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "local" {
    count          = 1
    shutdown_delay = "2s"
    task "local" {
      driver = "raw_exec"
      leader = true
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
    task "logship" {
      driver = "raw_exec"
      lifecycle {
        hook    = "poststart"
        sidecar = true
      }
      config {
        args    = ["logship", "--loki-url", "http://loki.service.consul:3100", "--alloc-dir", "$${NOMAD_ALLOC_DIR}", "--label", "project=logs", "--label", "element=local", "--label", "region=global", "--label", "alloc=$${NOMAD_ALLOC_ID}"]
        command = "$${NOMAD_TASK_DIR}/logship/backplane"
      }
      resources {
        cpu    = 50
        memory = 64
      }
      artifact {
        source      = "https://github.com/backplane-dev/backplane/releases/latest/download/backplane_linux_amd64.tar.gz"
        destination = "local/logship"
      }
    }
    network {
      port "http" {
      }
    }
    service {
      name     = "logs-local"
      tags     = ["backplane", "project=logs", "element=local"]
      port     = "http"
      provider = "nomad"
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
    "backplane.element" = "local"
    "backplane.project" = "logs"
  }
}
