"""Code deployed as AWS Lambda functions (infra/template.yaml; packaged by lambda_artifacts.py).

Nothing here may import the pipelines' Dagster code or the conversion engines: a function's
package holds `etl_platform` and only the dependencies its handler imports (no pyarrow).
"""
