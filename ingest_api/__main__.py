from ingest_api.cli import main

main()
