job "vaulted-api" {
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
        image = "ghcr.io/acme/api:1"
        ports = ["http"]
      }
      env = {
        PORT = "8080"
      }
      resources {
        cpu    = 200
        memory = 256
      }
      vault {
        role        = "vaulted-api"
        change_mode = "restart"
      }
      template {
        destination = "local/connections.env"
        data        = "{{ range $i, $s := nomadService \"vaulted-cache\" }}{{ if eq $i 0 }}{{ with $s }}REDIS_URL=redis://:{{ with secret \"secret/data/backplane/vaulted/cache/credentials\" }}{{ .Data.data.password }}{{ end }}@{{ if .Address | contains \":\" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}:{{ .Port }}/0\n{{ end }}{{ end }}{{ end }}{{ range $i, $s := nomadService \"vaulted-mq\" }}{{ if eq $i 0 }}{{ with $s }}BROKER_URL=amqp://app:{{ with secret \"secret/data/backplane/vaulted/mq/credentials\" }}{{ .Data.data.password }}{{ end }}@{{ if .Address | contains \":\" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}:{{ .Port }}/\n{{ end }}{{ end }}{{ end }}{{ range $i, $s := nomadService \"vaulted-pg\" }}{{ if eq $i 0 }}{{ with $s }}DATABASE_URL=postgres://app:{{ with secret \"secret/data/backplane/vaulted/pg/credentials\" }}{{ .Data.data.password }}{{ end }}@{{ if .Address | contains \":\" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}:{{ .Port }}/app\n{{ end }}{{ end }}{{ end }}"
        change_mode = "restart"
        env         = true
      }
    }
    network {
      port "http" {
        to = 8080
      }
    }
    service {
      name     = "vaulted-api"
      tags     = ["backplane", "project=vaulted", "element=api"]
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
    "backplane.project" = "vaulted"
  }
}
