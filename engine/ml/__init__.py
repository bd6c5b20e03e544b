"""Models from behaviour: discovered personas and the activation-risk score.

    features.py        the one feature encoding (traits, events and stage timings of the
                       first days), from plain values
    observe.py         observations of profiles from their facts (the ingestion path)
    repository.py      the same observations for a whole population, by SQL GROUP BY
    personas.py        k-means discovery, k chosen by silhouette
    describe.py        each persona in human terms
    activation.py      logistic activation model, AUC and calibration on held-out data
    predict.py         loaded models applied with numpy (what ingestion runs)
    artifacts.py       versioned model directories under segments/models/, skops files,
                       manifest and load-time checks
    segments_file.py   the segment file discovery writes
    insight.py         per-persona experiment recommendations
    service.py         discovery and training runs; commands.py: the CLI bodies

Pure modules (features, observe, personas, describe, activation, predict, insight) use no
database, no HTTP and no settings. docs/ml.md documents the formats and the commands.
"""
