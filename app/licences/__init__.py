"""Licences bought by teachers and their provisioning to distribution channels."""
