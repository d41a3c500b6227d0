job "pin-api" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "api" {
    count          = 1
    shutdown_delay = "2s"
    task "api" {
      driver = "docker"
      config {
        args    = ["$${NOMAD_TASK_DIR}/start.sh"]
        command = "/bin/sh"
        image   = "python:3.13-slim-bookworm"
        ports   = ["http"]
      }
      env = {
        BACKPLANE_GIT_SHA = "0123456789abcdef0123456789abcdef01234567"
        PORT              = "5000"
      }
      resources {
        cpu    = 200
        memory = 256
      }
      meta = {
        "backplane.version" = "3.13"
      }
      artifact {
        source      = "git::https://github.com/acme/api.git"
        destination = "local/src"
        options {
          ref = "0123456789abcdef0123456789abcdef01234567"
        }
      }
      template {
        destination = "local/start.sh"
        data        = "#!/bin/sh\nset -e\ncd \"$${NOMAD_TASK_DIR}/src\"\npython3 app.py\n"
        change_mode = "restart"
        perms       = "0755"
      }
    }
    network {
      port "http" {
        to = 5000
      }
    }
    service {
      name     = "pin-api"
      tags     = ["backplane", "project=pin", "element=api"]
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
    "backplane.element"  = "api"
    "backplane.git_sha"  = "0123456789abcdef0123456789abcdef01234567"
    "backplane.project"  = "pin"
    "backplane.revision" = "42"
  }
}
