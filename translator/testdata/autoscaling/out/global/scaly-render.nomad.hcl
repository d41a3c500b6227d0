job "scaly-render" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "render" {
    count = 1
    task "render" {
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
        data        = "#!/bin/sh\nset -e\n./render\n"
        change_mode = "restart"
        perms       = "0755"
      }
    }
    scaling {
      min     = 1
      max     = 4
      enabled = true
      policy {
        check "cpu" {
          query  = "avg_cpu-allocated"
          source = "nomad-apm"
          strategy "target-value" {
            target = 70
          }
        }
        cooldown            = "1m"
        evaluation_interval = "30s"
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
    "backplane.element" = "render"
    "backplane.project" = "scaly"
  }
}
