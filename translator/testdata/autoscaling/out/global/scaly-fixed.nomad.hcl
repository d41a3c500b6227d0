job "scaly-fixed" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "fixed" {
    count          = 4
    shutdown_delay = "2s"
    task "fixed" {
      driver = "docker"
      config {
        image = "ghcr.io/acme/fixed:1"
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
      name     = "scaly-fixed"
      tags     = ["backplane", "project=scaly", "element=fixed"]
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
    "backplane.element" = "fixed"
    "backplane.project" = "scaly"
  }
}
