job "logs-tick" {
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
        data        = "#!/bin/sh\nset -e\n./tick\n"
        change_mode = "restart"
        perms       = "0755"
      }
    }
  }
  periodic {
    crons            = ["@daily"]
    prohibit_overlap = true
  }
  meta = {
    "backplane.element" = "tick"
    "backplane.project" = "logs"
  }
}
