job "edge-green" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "green" {
    count          = 1
    shutdown_delay = "2s"
    task "green" {
      driver = "docker"
      config {
        image = "ghcr.io/acme/web:green"
        ports = ["http"]
      }
      env = {
        PORT = "8080"
      }
      resources {
        cpu    = 200
        memory = 256
      }
    }
    network {
      port "http" {
        to = 8080
      }
    }
    service {
      name     = "edge-green"
      tags     = ["backplane", "project=edge", "element=green"]
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
    "backplane.element" = "green"
    "backplane.project" = "edge"
  }
}
