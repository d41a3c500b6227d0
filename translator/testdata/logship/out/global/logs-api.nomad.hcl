job "logs-api" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "api" {
    count          = 1
    shutdown_delay = "2s"
    task "api" {
      driver = "docker"
      leader = true
      config {
        image = "ghcr.io/acme/api:1"
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
    task "logship" {
      driver = "docker"
      lifecycle {
        hook    = "poststart"
        sidecar = true
      }
      config {
        args  = ["logship", "--loki-url", "http://loki.service.consul:3100", "--alloc-dir", "$${NOMAD_ALLOC_DIR}", "--label", "project=logs", "--label", "element=api", "--label", "region=global", "--label", "alloc=$${NOMAD_ALLOC_ID}"]
        image = "ghcr.io/backplane-dev/backplane:latest"
      }
      resources {
        cpu    = 50
        memory = 64
      }
    }
    network {
      port "http" {
        to = 8080
      }
    }
    service {
      name     = "logs-api"
      tags     = ["backplane", "project=logs", "element=api"]
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
    "backplane.project" = "logs"
  }
}
