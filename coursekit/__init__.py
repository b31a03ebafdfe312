"""Tooling for the bilingual nn.Module course: sync, execute, check, build, test, benchmark."""
