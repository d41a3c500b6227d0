job "vaulted-cache" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "cache" {
    count          = 1
    shutdown_delay = "2s"
    task "cache" {
      driver = "docker"
      config {
        args    = ["-c", "exec redis-server --appendonly yes $${REDIS_PASSWORD:+--requirepass \"$REDIS_PASSWORD\"}"]
        command = "/bin/sh"
        image   = "redis:7.4-alpine"
        ports   = ["http"]
      }
      env = {
        PORT = "6379"
      }
      resources {
        cpu    = 200
        memory = 256
      }
      meta = {
        "backplane.version" = "7.4"
      }
      vault {
        role        = "vaulted-cache"
        change_mode = "restart"
      }
      template {
        destination = "secrets/credentials.env"
        data        = "{{ with secret \"secret/data/backplane/vaulted/cache/credentials\" }}\nREDIS_PASSWORD={{ .Data.data.password }}\n{{ end }}\n"
        change_mode = "restart"
        env         = true
      }
    }
    network {
      port "http" {
        to = 6379
      }
    }
    service {
      name     = "vaulted-cache"
      tags     = ["backplane", "project=vaulted", "element=cache"]
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
    "backplane.element" = "cache"
    "backplane.project" = "vaulted"
  }
}
