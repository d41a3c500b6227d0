job "all-img" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "img" {
    count          = 1
    shutdown_delay = "2s"
    task "img" {
      driver = "docker"
      config {
        args    = ["serve", "--verbose"]
        command = "/usr/bin/img"
        image   = "ghcr.io/acme/img:1.0"
        ports   = ["http"]
      }
      env = {
        PORT = "9000"
      }
      resources {
        cpu    = 200
        memory = 256
      }
      template {
        destination = "local/connections.env"
        data        = "{{ range $i, $s := nomadService \"all-redis\" }}{{ if eq $i 0 }}{{ with $s }}REDIS_URL=redis://{{ if .Address | contains \":\" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}:{{ .Port }}/0\n{{ end }}{{ end }}{{ end }}"
        change_mode = "restart"
        env         = true
      }
    }
    network {
      port "http" {
        to = 9000
      }
    }
    service {
      name     = "all-img"
      tags     = ["backplane", "project=all", "element=img"]
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
    "backplane.element" = "img"
    "backplane.project" = "all"
  }
}
