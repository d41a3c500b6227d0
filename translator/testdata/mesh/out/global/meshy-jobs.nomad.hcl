job "meshy-jobs" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "jobs" {
    count = 1
    task "jobs" {
      driver = "docker"
      config {
        args    = ["$${NOMAD_TASK_DIR}/start.sh"]
        command = "/bin/sh"
        image   = "debian:bookworm-slim"
      }
      resources {
        cpu    = 100
        memory = 128
      }
      template {
        destination = "local/start.sh"
        data        = "#!/bin/sh\nset -e\n./run-jobs\n"
        change_mode = "restart"
        perms       = "0755"
      }
      template {
        destination = "local/connections.env"
        data        = "DATABASE_URL=postgres://app@127.0.0.1:21000/app?sslmode=disable\n"
        change_mode = "restart"
        env         = true
      }
    }
    network {
      mode = "bridge"
    }
    service {
      name     = "meshy-jobs"
      tags     = ["backplane"]
      provider = "consul"
      connect {
        sidecar_service {
          proxy {
            upstreams {
              destination_name = "meshy-db"
              local_bind_port  = 21000
            }
          }
        }
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
    "backplane.element" = "jobs"
    "backplane.project" = "meshy"
  }
}
