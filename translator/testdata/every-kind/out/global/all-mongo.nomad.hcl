job "all-mongo" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "mongo" {
    count          = 1
    shutdown_delay = "2s"
    task "mongo" {
      driver = "docker"
      config {
        image = "mongo:7"
        ports = ["http"]
      }
      env = {
        MONGO_INITDB_DATABASE = "app"
        PORT                  = "27017"
      }
      resources {
        cpu    = 500
        memory = 512
      }
      meta = {
        "backplane.version" = "7"
      }
      volume_mount {
        volume      = "data"
        destination = "/data/db"
        read_only   = false
      }
    }
    volume "data" {
      type   = "host"
      source = "mongo-data"
    }
    network {
      port "http" {
        to = 27017
      }
    }
    service {
      name     = "all-mongo"
      tags     = ["backplane", "project=all", "element=mongo"]
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
    "backplane.element" = "mongo"
    "backplane.project" = "all"
  }
}
