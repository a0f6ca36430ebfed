"""HTTP routes: one router per resource, thin; they call app.jobs.service and the stores."""
