job "vaulted-mq" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "mq" {
    count          = 1
    shutdown_delay = "2s"
    task "mq" {
      driver = "docker"
      config {
        image = "rabbitmq:4.0-management-alpine"
        ports = ["http"]
      }
      env = {
        PORT                  = "5672"
        RABBITMQ_DEFAULT_USER = "app"
      }
      resources {
        cpu    = 500
        memory = 512
      }
      meta = {
        "backplane.version" = "4.0"
      }
      vault {
        role        = "vaulted-mq"
        change_mode = "restart"
      }
      template {
        destination = "secrets/credentials.env"
        data        = "{{ with secret \"secret/data/backplane/vaulted/mq/credentials\" }}\nRABBITMQ_DEFAULT_PASS={{ .Data.data.password }}\n{{ end }}\n"
        change_mode = "restart"
        env         = true
      }
    }
    network {
      port "http" {
        to = 5672
      }
    }
    service {
      name     = "vaulted-mq"
      tags     = ["backplane", "project=vaulted", "element=mq"]
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
    "backplane.element" = "mq"
    "backplane.project" = "vaulted"
  }
}
