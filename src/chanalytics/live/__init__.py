"""The live side: the stored stream the writer publishes, and what the API streams from it."""
