job "all-node" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "node" {
    count          = 1
    shutdown_delay = "2s"
    task "node" {
      driver = "docker"
      config {
        args    = ["$${NOMAD_TASK_DIR}/start.sh"]
        command = "/bin/sh"
        image   = "node:22-bookworm-slim"
        ports   = ["http"]
      }
      env = {
        PORT = "3000"
      }
      resources {
        cpu    = 200
        memory = 256
      }
      meta = {
        "backplane.version" = "22"
      }
      artifact {
        source      = "git::https://github.com/acme/node.git"
        destination = "local/src"
        options {
          depth = "1"
          ref   = "main"
        }
      }
      template {
        destination = "local/start.sh"
        data        = "#!/bin/sh\nset -e\ncd \"$${NOMAD_TASK_DIR}/src\"\nnpm ci\nnpm start\n"
        change_mode = "restart"
        perms       = "0755"
      }
      template {
        destination = "local/connections.env"
        data        = "{{ range $i, $s := nomadService \"all-pg\" }}{{ if eq $i 0 }}{{ with $s }}DATABASE_URL=postgres://app@{{ if .Address | contains \":\" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}:{{ .Port }}/app?sslmode=disable\n{{ end }}{{ end }}{{ end }}"
        change_mode = "restart"
        env         = true
      }
    }
    network {
      port "http" {
        to = 3000
      }
    }
    service {
      name     = "all-node"
      tags     = ["backplane", "project=all", "element=node"]
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
    "backplane.element" = "node"
    "backplane.project" = "all"
  }
}
