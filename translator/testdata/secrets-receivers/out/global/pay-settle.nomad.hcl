job "pay-settle" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "settle" {
    count = 1
    task "settle" {
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
      vault {
        role        = "pay-settle"
        change_mode = "restart"
      }
      template {
        destination = "local/start.sh"
        data        = "#!/bin/sh\nset -e\n./settle\n"
        change_mode = "restart"
        perms       = "0755"
      }
      template {
        destination = "local/connections.env"
        data        = "{{ range $i, $s := nomadService \"pay-api\" }}{{ if eq $i 0 }}{{ with $s }}PAY_API=http://{{ if .Address | contains \":\" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}:{{ .Port }}\n{{ end }}{{ end }}{{ end }}"
        change_mode = "restart"
        env         = true
      }
      template {
        destination = "secrets/secrets.env"
        data        = "{{ with secret \"secret/data/backplane/pay/settle\" }}\nBANK_TOKEN={{ index .Data.data \"BANK_TOKEN\" | toJSON }}\n{{ end }}\n"
        change_mode = "restart"
        env         = true
      }
    }
  }
  update {
    max_parallel      = 1
    health_check      = "task_states"
    min_healthy_time  = "3s"
    healthy_deadline  = "5m0s"
    progress_deadline = "10m0s"
    auto_revert       = true
  }
  meta = {
    "backplane.element" = "settle"
    "backplane.project" = "pay"
  }
}
