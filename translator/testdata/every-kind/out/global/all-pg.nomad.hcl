job "all-pg" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "pg" {
    count          = 1
    shutdown_delay = "2s"
    task "pg" {
      driver = "docker"
      config {
        image = "postgres:16"
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
        "backplane.version" = "16"
      }
      volume_mount {
        volume      = "data"
        destination = "/var/lib/postgresql/data"
        read_only   = false
      }
    }
    volume "data" {
      type   = "host"
      source = "pg-data"
    }
    network {
      port "http" {
        to = 5432
      }
    }
    service {
      name     = "all-pg"
      tags     = ["backplane", "project=all", "element=pg"]
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
    "backplane.element" = "pg"
    "backplane.project" = "all"
  }
}
