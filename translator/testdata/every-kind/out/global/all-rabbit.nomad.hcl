job "all-rabbit" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "rabbit" {
    count          = 1
    shutdown_delay = "2s"
    task "rabbit" {
      driver = "docker"
      config {
        image = "rabbitmq:4.0-management-alpine"
        ports = ["http"]
      }
      env = {
        PORT                                = "5672"
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS = "-rabbit loopback_users []"
      }
      resources {
        cpu    = 500
        memory = 512
      }
      meta = {
        "backplane.version" = "4.0"
      }
    }
    network {
      port "http" {
        to = 5672
      }
    }
    service {
      name     = "all-rabbit"
      tags     = ["backplane", "project=all", "element=rabbit"]
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
    "backplane.element" = "rabbit"
    "backplane.project" = "all"
  }
}
