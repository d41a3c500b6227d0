job "msg-bus" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "bus" {
    count          = 1
    shutdown_delay = "2s"
    task "bus" {
      driver = "docker"
      config {
        args  = ["-js", "-sd", "/data"]
        image = "nats:2.10-alpine"
        ports = ["http"]
      }
      env = {
        PORT = "4222"
      }
      resources {
        cpu    = 200
        memory = 256
      }
      meta = {
        "backplane.version" = "2.10"
      }
      template {
        destination = "local/params.env"
        data        = "NATS_MAX_PAYLOAD=\"8MB\"\n"
        change_mode = "restart"
        env         = true
      }
      volume_mount {
        volume      = "data"
        destination = "/data"
        read_only   = false
      }
    }
    volume "data" {
      type   = "host"
      source = "nats-data"
    }
    network {
      port "http" {
        to = 4222
      }
    }
    service {
      name     = "msg-bus"
      tags     = ["backplane", "project=msg", "element=bus"]
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
    "backplane.element" = "bus"
    "backplane.project" = "msg"
  }
}
