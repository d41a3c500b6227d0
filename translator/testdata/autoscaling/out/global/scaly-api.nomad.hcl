job "scaly-api" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "api" {
    count          = 3
    shutdown_delay = "2s"
    task "api" {
      driver = "docker"
      config {
        image = "ghcr.io/acme/api:1"
        ports = ["http"]
      }
      env = {
        PORT = "8080"
      }
      resources {
        cpu        = 500
        memory     = 512
        memory_max = 1024
      }
    }
    network {
      port "http" {
        to = 8080
      }
    }
    service {
      name     = "scaly-api"
      tags     = ["backplane", "project=scaly", "element=api"]
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
    scaling {
      min     = 2
      max     = 20
      enabled = true
      policy {
        check "cpu" {
          query  = "avg_cpu-allocated"
          source = "nomad-apm"
          strategy "target-value" {
            target = 60
          }
        }
        cooldown            = "1m"
        evaluation_interval = "30s"
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
    "backplane.project" = "scaly"
  }
}
