job "meshy-db" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "db" {
    count          = 1
    shutdown_delay = "2s"
    task "db" {
      driver = "docker"
      config {
        image = "postgres:17"
        ports = ["http"]
      }
      env = {
        PORT                      = "5432"
        POSTGRES_DB               = "app"
        POSTGRES_HOST_AUTH_METHOD = "trust"
        POSTGRES_USER             = "app"
      }
      resources {
        cpu    = 500
        memory = 512
      }
      meta = {
        "backplane.version" = "17"
      }
    }
    network {
      mode = "bridge"
    }
    service {
      name     = "meshy-db"
      tags     = ["backplane", "project=meshy", "element=db"]
      port     = "5432"
      provider = "consul"
      connect {
        sidecar_service {
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
    "backplane.element" = "db"
    "backplane.project" = "meshy"
  }
}
