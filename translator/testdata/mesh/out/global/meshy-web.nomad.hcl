job "meshy-web" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "web" {
    count          = 1
    shutdown_delay = "2s"
    task "web" {
      driver = "docker"
      config {
        image = "ghcr.io/acme/web:2"
        ports = ["http"]
      }
      env = {
        PORT = "8080"
      }
      resources {
        cpu    = 200
        memory = 256
      }
      template {
        destination = "local/connections.env"
        data        = "API_URL=http://127.0.0.1:21000\n"
        change_mode = "restart"
        env         = true
      }
    }
    network {
      mode = "bridge"
    }
    service {
      name     = "meshy-web"
      tags     = ["backplane", "project=meshy", "element=web"]
      port     = "8080"
      provider = "consul"
      check {
        name     = "alive"
        type     = "http"
        path     = "/healthz"
        expose   = true
        interval = "3s"
        timeout  = "2s"
      }
      connect {
        sidecar_service {
          proxy {
            upstreams {
              destination_name = "meshy-api"
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
    "backplane.element" = "web"
    "backplane.project" = "meshy"
  }
}
