job "batch-nightly" {
  region      = "eu"
  namespace   = "default"
  type        = "batch"
  datacenters = ["dc1"]
  group "nightly" {
    count = 1
    task "nightly" {
      driver = "docker"
      config {
        args    = ["$${NOMAD_TASK_DIR}/start.sh"]
        command = "/bin/sh"
        image   = "python:3.12-slim"
      }
      resources {
        cpu    = 100
        memory = 128
      }
      vault {
        role        = "batch-nightly"
        change_mode = "restart"
      }
      template {
        destination = "local/start.sh"
        data        = "#!/bin/sh\nset -e\npython3 -m report --since yesterday\n"
        change_mode = "restart"
        perms       = "0755"
      }
      template {
        destination = "local/env.env"
        data        = "TZ=\"UTC\"\n"
        change_mode = "restart"
        env         = true
      }
      template {
        destination = "secrets/secrets.env"
        data        = "{{ with secret \"secret/data/backplane/batch/nightly\" }}\nREPORT_TOKEN={{ index .Data.data \"REPORT_TOKEN\" | toJSON }}\n{{ end }}\n"
        change_mode = "restart"
        env         = true
      }
    }
  }
  periodic {
    crons            = ["0 3 * * *"]
    prohibit_overlap = true
  }
  meta = {
    "backplane.element" = "nightly"
    "backplane.project" = "batch"
  }
}
