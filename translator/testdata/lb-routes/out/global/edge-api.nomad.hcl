job "edge-api" {
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
        image = "ghcr.io/acme/api:1"
        ports = ["http"]
      }
      env = {
        PORT = "9000"
      }
      resources {
        cpu    = 200
        memory = 256
      }
    }
    network {
      port "http" {
        to = 9000
      }
    }
    service {
      name     = "edge-api"
      tags     = ["backplane", "project=edge", "element=api"]
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
    "backplane.element" = "api"
    "backplane.project" = "edge"
  }
}
