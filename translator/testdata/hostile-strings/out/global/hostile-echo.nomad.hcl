job "hostile-echo" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "echo" {
    count          = 1
    shutdown_delay = "2s"
    task "echo" {
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
        data        = "#!/bin/sh\nset -e\nprintf '%s\\n' \"{{ \"{{\" }} .NotATemplate }}\" '$${NOT_INTERPOLATED}' \"%%{ if x }\" 'it''s \"quoted\"' \\\n  && exec python3 -m http.server \"$PORT\"\n\n"
        change_mode = "restart"
        perms       = "0755"
      }
      template {
        destination = "local/env.env"
        data        = "BACKSLASH=\"C:\\\\temp\\\\new\"\nCLOSERS=\"}} ]] %}\"\nDIRECTIVE=\"%%{ for x in y }\"\nHASH=\"# not a comment\"\nINTERP=\"$${attr.unique.hostname} and $${NOMAD_PORT_http}\"\nNEWLINES=\"line one\\nline two\\n\"\nQUOTES=\"she said \\\"hi\\\" and 'bye'\"\nSPACES=\"  padded  \"\nTEMPLATE=\"{{ \"{{\" }} env \\\"HOME\\\" }}\"\nUNICODE=\"naïve — ✓\"\n"
        change_mode = "restart"
        env         = true
      }
    }
    network {
      port "http" {
      }
    }
    service {
      name     = "hostile-echo"
      tags     = ["backplane", "project=hostile", "element=echo"]
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
    "backplane.element" = "echo"
    "backplane.project" = "hostile"
  }
}
