"""The parts of :class:`planner.api.Planner`, one module per concern."""
