job "local-report" {
  region      = "global"
  namespace   = "default"
  type        = "batch"
  datacenters = ["dc1"]
  group "report" {
    count = 1
    task "report" {
      driver = "raw_exec"
      config {
        args    = ["$${NOMAD_TASK_DIR}/start.sh"]
        command = "/bin/sh"
      }
      resources {
        cpu    = 100
        memory = 128
      }
      template {
        destination = "local/start.sh"
        data        = "#!/bin/sh\nset -e\necho \"$API_URL\"\n"
        change_mode = "restart"
        perms       = "0755"
      }
      template {
        destination = "local/connections.env"
        data        = "{{ range $i, $s := nomadService \"local-api\" }}{{ if eq $i 0 }}{{ with $s }}API_URL=http://{{ if .Address | contains \":\" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}:{{ .Port }}\n{{ end }}{{ end }}{{ end }}"
        change_mode = "restart"
        env         = true
      }
    }
  }
  periodic {
    crons            = ["@hourly"]
    prohibit_overlap = true
  }
  meta = {
    "backplane.element" = "report"
    "backplane.project" = "local"
  }
}
