job "all-gosvc" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "gosvc" {
    count          = 1
    shutdown_delay = "2s"
    task "gosvc" {
      driver = "docker"
      config {
        args    = ["$${NOMAD_TASK_DIR}/start.sh"]
        command = "/bin/sh"
        image   = "golang:1.25-bookworm"
        ports   = ["http"]
      }
      env = {
        PORT = "8080"
      }
      resources {
        cpu    = 200
        memory = 256
      }
      meta = {
        "backplane.version" = "1.25"
      }
      artifact {
        source      = "git@github.com:acme/gosvc.git"
        destination = "local/src"
        options {
          ref = "v1.4.2"
        }
      }
      template {
        destination = "local/start.sh"
        data        = "#!/bin/sh\nset -e\ncd \"$${NOMAD_TASK_DIR}/src\"\ngo build -o app .\n./app\n"
        change_mode = "restart"
        perms       = "0755"
      }
      template {
        destination = "local/connections.env"
        data        = "{{ range $i, $s := nomadService \"all-mongo\" }}{{ if eq $i 0 }}{{ with $s }}MONGODB_URL=mongodb://{{ if .Address | contains \":\" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}:{{ .Port }}/app\n{{ end }}{{ end }}{{ end }}"
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
      name     = "all-gosvc"
      tags     = ["backplane", "project=all", "element=gosvc"]
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
    "backplane.element" = "gosvc"
    "backplane.project" = "all"
  }
}
