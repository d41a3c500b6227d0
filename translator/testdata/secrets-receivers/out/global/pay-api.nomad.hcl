job "pay-api" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "api" {
    count          = 1
    shutdown_delay = "2s"
    task "api" {
      driver = "docker"
      config {
        image = "ghcr.io/acme/pay:3"
        ports = ["http"]
      }
      env = {
        PORT = "8443"
      }
      resources {
        cpu    = 200
        memory = 256
      }
      vault {
        role        = "pay-api"
        change_mode = "restart"
      }
      template {
        destination = "local/env.env"
        data        = "MODE=\"live\"\n"
        change_mode = "restart"
        env         = true
      }
      template {
        destination = "secrets/secrets.env"
        data        = "{{ with secret \"secret/data/backplane/pay/api\" }}\nJWT_SIGNING_KEY={{ index .Data.data \"JWT_SIGNING_KEY\" | toJSON }}\nSTRIPE_KEY={{ index .Data.data \"STRIPE_KEY\" | toJSON }}\n{{ end }}\n"
        change_mode = "restart"
        env         = true
      }
    }
    network {
      port "http" {
        to = 8443
      }
    }
    service {
      name     = "pay-api"
      tags     = ["backplane", "project=pay", "element=api"]
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
    "backplane.project" = "pay"
  }
}
