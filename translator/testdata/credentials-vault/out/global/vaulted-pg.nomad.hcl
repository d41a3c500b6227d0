job "vaulted-pg" {
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
        image = "postgres:17"
        ports = ["http"]
      }
      env = {
        PORT          = "5432"
        POSTGRES_DB   = "app"
        POSTGRES_USER = "app"
      }
      resources {
        cpu    = 500
        memory = 512
      }
      meta = {
        "backplane.version" = "17"
      }
      vault {
        role        = "vaulted-pg"
        change_mode = "restart"
      }
      template {
        destination = "secrets/credentials.env"
        data        = "{{ with secret \"secret/data/backplane/vaulted/pg/credentials\" }}\nPOSTGRES_PASSWORD={{ .Data.data.password }}\n{{ end }}\n"
        change_mode = "restart"
        env         = true
      }
    }
    network {
      port "http" {
        to = 5432
      }
    }
    service {
      name     = "vaulted-pg"
      tags     = ["backplane", "project=vaulted", "element=pg"]
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
    "backplane.project" = "vaulted"
  }
}
