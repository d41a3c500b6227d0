job "geo-front" {
  region      = "us"
  namespace   = "default"
  type        = "service"
  datacenters = ["us-east-1"]
  group "front" {
    count          = 1
    shutdown_delay = "2s"
    task "front" {
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
        data        = "#!/bin/sh\nset -e\npython3 -m http.server $PORT\n"
        change_mode = "restart"
        perms       = "0755"
      }
      template {
        destination = "local/connections.env"
        data        = "{{ range $i, $s := service \"geo-ledger@eu\" }}{{ if eq $i 0 }}{{ with $s }}LEDGER_ADDR=http://{{ if .Address | contains \":\" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}:{{ .Port }}\n{{ end }}{{ end }}{{ end }}{{ range $i, $s := service \"geo-search\" }}{{ if eq $i 0 }}{{ with $s }}SEARCH_URL=http://{{ if .Address | contains \":\" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}:{{ .Port }}\n{{ end }}{{ end }}{{ end }}"
        change_mode = "restart"
        env         = true
      }
    }
    network {
      port "http" {
      }
    }
    service {
      name     = "geo-front"
      tags     = ["backplane", "project=geo", "element=front"]
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
    "backplane.element" = "front"
    "backplane.project" = "geo"
  }
}
