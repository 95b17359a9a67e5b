-- The workshop's test_all_values_gte_zero macro as a reusable generic test: apply it to
-- any column by name in a properties file (`- all_values_gte_zero`).
{% test all_values_gte_zero(model, column_name) %}

select * from {{ model }} where {{ column_name }} < 0

{% endtest %}
