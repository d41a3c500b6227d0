job "all-tick" {
  region      = "global"
  namespace   = "default"
  type        = "batch"
  datacenters = ["dc1"]
  group "tick" {
    count = 1
    task "tick" {
      driver = "docker"
      config {
        args    = ["$${NOMAD_TASK_DIR}/start.sh"]
        command = "/bin/sh"
        image   = "debian:bookworm-slim"
      }
      resources {
        cpu    = 100
        memory = 128
      }
      template {
        destination = "local/start.sh"
        data        = "#!/bin/sh\nset -e\npython3 -m tick\n"
        change_mode = "restart"
        perms       = "0755"
      }
      template {
        destination = "local/connections.env"
        data        = "{{ range $i, $s := nomadService \"all-pg\" }}{{ if eq $i 0 }}{{ with $s }}REPORT_DB_URL=postgres://app@{{ if .Address | contains \":\" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}:{{ .Port }}/app?sslmode=disable\n{{ end }}{{ end }}{{ end }}"
        change_mode = "restart"
        env         = true
      }
    }
  }
  periodic {
    crons            = ["*/5 * * * *"]
    prohibit_overlap = true
  }
  meta = {
    "backplane.element" = "tick"
    "backplane.project" = "all"
  }
}
