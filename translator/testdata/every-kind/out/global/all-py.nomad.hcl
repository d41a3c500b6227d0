job "all-py" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "py" {
    count          = 1
    shutdown_delay = "2s"
    task "py" {
      driver = "docker"
      config {
        args    = ["$${NOMAD_TASK_DIR}/start.sh"]
        command = "/bin/sh"
        image   = "python:3.12-slim-bookworm"
        ports   = ["http"]
      }
      env = {
        PORT = "8000"
      }
      resources {
        cpu    = 200
        memory = 256
      }
      meta = {
        "backplane.version" = "3.12"
      }
      artifact {
        source      = "git::https://github.com/acme/py.git"
        destination = "local/src"
        options {
          depth = "1"
          ref   = "main"
        }
      }
      template {
        destination = "local/start.sh"
        data        = "#!/bin/sh\nset -e\ncd \"$${NOMAD_TASK_DIR}/src/service\"\npip install -r requirements.txt\ngunicorn app:app\n"
        change_mode = "restart"
        perms       = "0755"
      }
      template {
        destination = "local/connections.env"
        data        = "{{ range $i, $s := nomadService \"all-my\" }}{{ if eq $i 0 }}{{ with $s }}MYSQL_URL=mysql://root@{{ if .Address | contains \":\" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}:{{ .Port }}/app\n{{ end }}{{ end }}{{ end }}"
        change_mode = "restart"
        env         = true
      }
    }
    network {
      port "http" {
        to = 8000
      }
    }
    service {
      name     = "all-py"
      tags     = ["backplane", "project=all", "element=py"]
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
    "backplane.element" = "py"
    "backplane.project" = "all"
  }
}
