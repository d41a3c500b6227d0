job "edge-docs" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "docs" {
    count          = 1
    shutdown_delay = "2s"
    task "docs" {
      driver = "docker"
      config {
        image = "ghcr.io/acme/docs:1"
        ports = ["http"]
      }
      env = {
        PORT = "4000"
      }
      resources {
        cpu    = 200
        memory = 256
      }
    }
    network {
      port "http" {
        to = 4000
      }
    }
    service {
      name     = "edge-docs"
      tags     = ["backplane", "project=edge", "element=docs"]
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
    "backplane.element" = "docs"
    "backplane.project" = "edge"
  }
}
