"""Azure Event Grid: ACS's calling events, received over HTTP (`routes`) and parsed (`events`)."""
