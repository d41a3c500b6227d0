job "batch-every-minute" {
  region      = "eu"
  namespace   = "default"
  type        = "batch"
  datacenters = ["dc1"]
  group "every-minute" {
    count = 1
    task "every-minute" {
      driver = "exec"
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
        data        = "#!/bin/sh\nset -e\ndate\n"
        change_mode = "restart"
        perms       = "0755"
      }
    }
  }
  periodic {
    crons            = ["* * * * *"]
    prohibit_overlap = true
  }
  meta = {
    "backplane.element" = "every-minute"
    "backplane.project" = "batch"
  }
}
