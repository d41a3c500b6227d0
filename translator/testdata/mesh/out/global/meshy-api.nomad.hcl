job "meshy-api" {
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
        image = "ghcr.io/acme/api:2"
        ports = ["http"]
      }
      env = {
        PORT = "9090"
      }
      resources {
        cpu    = 200
        memory = 256
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
      name     = "meshy-api"
      tags     = ["backplane", "project=meshy", "element=api"]
      port     = "9090"
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
    "backplane.element" = "api"
    "backplane.project" = "meshy"
  }
}
