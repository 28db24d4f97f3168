"""The platform operator's own endpoints (/v1/operator/...) and the creation of operator accounts."""
