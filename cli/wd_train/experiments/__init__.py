"""The experiments stage: a config's runs (`runner`: one run or a comparison, `comparison`:
variants × seeds), results lines (`results`), summaries (`grouping`, `summary`, `stats`,
`plots`, `report`), the regression gate (`gate`) and a run's table (`tables`)."""
