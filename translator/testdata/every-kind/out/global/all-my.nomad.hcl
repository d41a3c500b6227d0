job "all-my" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "my" {
    count          = 1
    shutdown_delay = "2s"
    task "my" {
      driver = "docker"
      config {
        image = "mysql:8.4"
        ports = ["http"]
      }
      env = {
        MYSQL_ALLOW_EMPTY_PASSWORD = "yes"
        MYSQL_DATABASE             = "app"
        PORT                       = "3306"
      }
      resources {
        cpu    = 500
        memory = 512
      }
      meta = {
        "backplane.version" = "8.4"
      }
    }
    network {
      port "http" {
        to = 3306
      }
    }
    service {
      name     = "all-my"
      tags     = ["backplane", "project=all", "element=my"]
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
    "backplane.element" = "my"
    "backplane.project" = "all"
  }
}
