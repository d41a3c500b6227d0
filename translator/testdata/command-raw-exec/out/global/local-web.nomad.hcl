job "local-web" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "web" {
    count          = 1
    shutdown_delay = "2s"
    task "web" {
      driver = "raw_exec"
      config {
        args    = ["$${NOMAD_TASK_DIR}/start.sh"]
        command = "/bin/sh"
      }
      env = {
        PORT = "$${NOMAD_PORT_http}"
      }
      resources {
        cpu    = 100
        memory = 128
      }
      template {
        destination = "local/start.sh"
        data        = "#!/bin/sh\nset -e\npython3 -m http.server $PORT --bind 127.0.0.1\n"
        change_mode = "restart"
        perms       = "0755"
      }
      template {
        destination = "local/env.env"
        data        = "GREETING=\"hello\"\n"
        change_mode = "restart"
        env         = true
      }
      template {
        destination = "local/connections.env"
        data        = "{{ range $i, $s := nomadService \"local-api\" }}{{ if eq $i 0 }}{{ with $s }}API_URL=http://{{ if .Address | contains \":\" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}:{{ .Port }}\n{{ end }}{{ end }}{{ end }}"
        change_mode = "restart"
        env         = true
      }
    }
    network {
      port "http" {
      }
    }
    service {
      name     = "local-web"
      tags     = ["backplane", "project=local", "element=web"]
      port     = "http"
      provider = "nomad"
      check {
        name     = "alive"
        type     = "http"
        path     = "/"
        port     = "http"
        interval = "2s"
        timeout  = "1s"
      }
    }
  }
  update {
    max_parallel      = 1
    health_check      = "checks"
    min_healthy_time  = "1s"
    healthy_deadline  = "5m0s"
    progress_deadline = "10m0s"
    auto_revert       = true
  }
  meta = {
    "backplane.element" = "web"
    "backplane.project" = "local"
  }
}
