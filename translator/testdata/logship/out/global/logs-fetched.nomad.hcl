job "logs-fetched" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "fetched" {
    count = 1
    task "fetched" {
      driver = "exec"
      leader = true
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
        data        = "#!/bin/sh\nset -e\n./work\n"
        change_mode = "restart"
        perms       = "0755"
      }
    }
    task "logship" {
      driver = "exec"
      lifecycle {
        hook    = "poststart"
        sidecar = true
      }
      config {
        args    = ["logship", "--loki-url", "http://loki.service.consul:3100", "--alloc-dir", "$${NOMAD_ALLOC_DIR}", "--label", "project=logs", "--label", "element=fetched", "--label", "region=global", "--label", "alloc=$${NOMAD_ALLOC_ID}"]
        command = "$${NOMAD_TASK_DIR}/logship/backplane"
      }
      resources {
        cpu    = 50
        memory = 64
      }
      artifact {
        source      = "https://github.com/backplane-dev/backplane/releases/latest/download/backplane_linux_amd64.tar.gz"
        destination = "local/logship"
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
    "backplane.element" = "fetched"
    "backplane.project" = "logs"
  }
}
