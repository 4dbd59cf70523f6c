DROP TABLE custom_actions;
