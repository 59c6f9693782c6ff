"""The experiments stage: a config's runs (`runner`: one run or a comparison, `comparison`:
variants × grid points × seeds, `grid`: grid points and their names), results lines (`results`),
summaries (`grouping`, `differences`, `summary`, `grid_summary`, `stats`, `plots`, `report`),
the regression gate (`gate`) and a run's table (`tables`)."""
