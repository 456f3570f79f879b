"""The lab: endpoints served by the app itself that misbehave on purpose, and the demos that
point the experiment form at them."""
